// Great-circle distance between two points on the Earth, for ranking mirrors by how far they are from a client.
// Pure; no allocation.

/** Mean Earth radius in km (IUGG). The spherical model is off by < 0.5 %, far below GeoIP's own error. */
export const EARTH_RADIUS_KM = 6371.0088;

const RAD = Math.PI / 180;

/**
 * Haversine distance in kilometres between (lat1, lng1) and (lat2, lng2), given in decimal degrees.
 * Returns NaN if an input is not a finite number, so that a caller can tell "unknown" from "0 km".
 */
export function haversineKm(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLng = (lng2 - lng1) * RAD;
  const s1 = Math.sin(dLat / 2);
  const s2 = Math.sin(dLng / 2);
  const h = s1 * s1 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * s2 * s2;
  // min() guards against h drifting a hair above 1 for antipodal points (asin would give NaN).
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(Math.min(1, h)));
}
