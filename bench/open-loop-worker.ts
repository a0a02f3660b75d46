/** Worker-thread entry of the open-loop load generator (open-loop-load.ts): runs the load in `workerData` and posts the figures. */
import { parentPort, workerData } from 'node:worker_threads';
import { runOpenLoop, type OpenLoopOptions } from './open-loop-load.js';

parentPort!.postMessage(await runOpenLoop(workerData as OpenLoopOptions));
