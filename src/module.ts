/** PM2 module entry (package.json `apps.script`): see cli/module.ts. */
import { runModule } from './cli/module.js';

void runModule();
