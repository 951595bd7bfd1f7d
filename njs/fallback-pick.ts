// Which fallback mirror njs sends a client to when the sidecar cannot answer. Pure (apart from Math.random among
// equals). Its own module, in the njs 0.7.9 subset, so that tests run it under Node and under the njs engine.

/**
 * From "CC,CONTINENT,URL ..." (fallback.mirrors as nginx/server.conf sets it) pick one in the client's country,
 * else its continent (when nginx knows them), else any; at random among equals. '' when none is set.
 */
function pickFallback(list: string, country: string, continent: string): string {
  if (!list) return '';
  const entries = list.split(' ');
  const byCountry: string[] = [];
  const byContinent: string[] = [];
  const all: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const parts = entries[i].split(',');
    if (parts.length < 3) continue;
    const url = parts.slice(2).join(',');
    all.push(url);
    if (country && parts[0] === country.toUpperCase()) byCountry.push(url);
    if (continent && parts[1] === continent.toUpperCase()) byContinent.push(url);
  }
  const pool = byCountry.length ? byCountry : byContinent.length ? byContinent : all;
  return pool.length ? pool[Math.floor(Math.random() * pool.length)] : '';
}

export default { pick: pickFallback };
