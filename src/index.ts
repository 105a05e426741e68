/** The package entry (`import { createHotcert } from 'hotcert'`): the library API and its types, nothing else. */
export { createHotcert } from './library/create-hotcert.js';
export type { FetchApplication, HotcertInstance, HotcertListenOptions, HotcertOptions, HotcertServer } from './library/create-hotcert.js';
export { ConfigError } from './config.js';
export { DataDirError } from './services.js';
