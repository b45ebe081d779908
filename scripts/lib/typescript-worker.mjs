// A worker thread's entry: registers tsx in the thread (Node 20 does not carry the parent's
// --import loaders into workers), then loads the TypeScript module named in workerData.entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
