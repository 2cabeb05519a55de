// Where the package lives on disk: Node-only, so it sits behind the platform adapter now; this
// re-export keeps the many callers' import path.
export { projectRoot } from '../platform/root.js';
