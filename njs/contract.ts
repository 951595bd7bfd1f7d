// What nginx's config, the njs handler and the sidecar agree on, in one place: the internal locations
// (core/nginx-config.ts fills them into nginx/*.conf), the sidecar's mark for local delivery and the type of the
// plain-text answers. njs 0.7.9 subset (docs/CONVENTIONS.md): njs/mirrorlane.ts and the sidecar import it.

export default {
  /** The internal location of njs's one subrequest per download (nginx/server.conf). */
  DECIDE_LOCATION: '/_mirrorlane/decide',
  /** The path nginx asks the sidecar on (the decide location and nginx.mode "proxy"); the sidecar takes any. */
  SIDECAR_DOWNLOAD_PATH: '/_mirrorlane/download',
  /** The internal location that serves the origin tree, without its trailing slash (nginx/server.conf). */
  ORIGIN_LOCATION: '/_mirrorlane/origin',
  /** The sidecar's mark on an answer that nginx delivers from the origin tree: the encoded origin path to serve. */
  LOCAL_MARK: 'X-Ml-Local',
  TEXT_TYPE: 'text/plain; charset=utf-8',
};
