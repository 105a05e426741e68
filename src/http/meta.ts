import { packageVersion } from '../package-version.js';

export const meta = { api_status: 'stable', version: packageVersion } as const;
