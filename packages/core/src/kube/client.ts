/**
 * The parts of `@kubernetes/client-node` the actions use, imported file by file.
 *
 * Why: the package's index (and its KubeConfig, through `./gen/index.js`) pulls in every generated
 * API class and model, ~4 MB of an action's bundle, while the actions talk to the API through
 * `kube.request` by path. Code imports this module as `#kube-client` (core's package.json `imports`):
 * tests and scripts get this file; the action bundles get `packages/core/build/client-node/index.js`, which
 * `scripts/build.ts` makes from it with KubeConfig's `./gen/index.js` cut down to the two
 * symbols it uses. Anything added here is bundled as it is.
 */
export { KubeConfig } from '@kubernetes/client-node/dist/config.js';
export { Watch } from '@kubernetes/client-node/dist/watch.js';
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
export { HttpMethod } from '@kubernetes/client-node/dist/gen/http/http.js';
export { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
