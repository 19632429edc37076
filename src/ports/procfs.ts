/** Moved to src/proc/ (the /proc leaf); kept only until every importer has moved. */
export { procAvailable, procFacts, type ProcFacts } from '../proc/read.js';
export { ancestry, descendants } from '../proc/tree.js';
export { listeningInodes, socketOwners, socketsOf } from '../proc/sockets.js';
