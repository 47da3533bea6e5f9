// Runs one Lambda function instance inside a worker thread: imports the synthesized bundle once
// (cold init), then handles one invocation at a time, like a Lambda execution environment.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const { entry, handlerName, functionName, memorySize } = workerData;
const started = performance.now();
let handler;
try {
  const module = await import(pathToFileURL(entry).href);
  handler = module[handlerName];
  if (typeof handler !== 'function') throw new Error(`${entry} does not export a function named ${handlerName}`);
  parentPort.postMessage({ type: 'ready', initMs: performance.now() - started });
} catch (error) {
  parentPort.postMessage({ type: 'init_error', error: serialise(error) });
}

// The request-accounting ledger the bundle's SDK middleware fills (functions/adapters/requestAccounting.ts).
const LEDGER_KEY = Symbol.for('herald.requestLedger');

parentPort.on('message', async (message) => {
  if (message.type === 'ledger') {
    const ledger = globalThis[LEDGER_KEY] ?? {};
    parentPort.postMessage({ type: 'ledger', id: message.id, ledger: structuredClone(ledger) });
    if (message.reset) for (const key of Object.keys(ledger)) delete ledger[key];
    return;
  }
  if (message.type !== 'invoke') return;
  const deadline = Date.now() + message.timeoutMs;
  const context = {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memorySize),
    awsRequestId: message.requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
  const invoked = performance.now();
  try {
    const result = await handler(message.event, context);
    parentPort.postMessage({ type: 'result', id: message.id, ok: true, result: result === undefined ? null : result, durationMs: performance.now() - invoked });
  } catch (error) {
    parentPort.postMessage({ type: 'result', id: message.id, ok: false, error: serialise(error), durationMs: performance.now() - invoked });
  }
});

function serialise(error) {
  return { name: error?.name ?? 'Error', message: error?.message ?? String(error), stack: error?.stack };
}
