#!/usr/bin/env node
/** The `helpdesk-monitor` command: dispatch to one file per command (see commands.ts). */
import { dispatch } from './commands.js';
import { failWith } from './exit.js';

dispatch(process.argv.slice(2)).catch(failWith);
