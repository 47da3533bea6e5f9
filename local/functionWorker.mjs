// Runs one Lambda function instance inside a worker thread: imports the synthesized bundle once
// (cold init), then handles one invocation at a time, like a Lambda execution environment.
//
// Between invocations the environment is frozen, as Lambda freezes it: once the handler's answer is
// sent, the thread blocks (Atomics.wait) until the next invocation thaws it, so timers and
// un-awaited promises of one invocation run only when the next begins, or never
// (docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const { entry, handlerName, functionName, memorySize, thawFlag } = workerData;
const thawed = new Int32Array(thawFlag);

// Log lines go to the parent as messages: a worker's own stdout waits for the parent to ask for
// more, which a frozen worker could not hear, and its lines would be held until the next thaw.
for (const stream of ['stdout', 'stderr']) {
  process[stream].write = (chunk, encoding, callback) => {
    parentPort.postMessage({ type: 'log', text: typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8') });
    (typeof encoding === 'function' ? encoding : callback)?.();
    return true;
  };
}

// The request-accounting ledger the bundle's SDK middleware fills (functions/adapters/requestAccounting.ts).
const LEDGER_KEY = Symbol.for('herald.requestLedger');

/** The requests counted since the last answer; sent with each answer, since a frozen worker cannot be asked. */
function takeLedger() {
  const ledger = globalThis[LEDGER_KEY] ?? {};
  const taken = structuredClone(ledger);
  for (const key of Object.keys(ledger)) delete ledger[key];
  return taken;
}

/** Answers, then freezes until the parent thaws this environment for its next invocation. */
function answerAndFreeze(message) {
  Atomics.store(thawed, 0, 0);
  parentPort.postMessage({ ...message, ledger: takeLedger() });
  Atomics.wait(thawed, 0, 0);
}

const started = performance.now();
let handler;
try {
  const module = await import(pathToFileURL(entry).href);
  handler = module[handlerName];
  if (typeof handler !== 'function') throw new Error(`${entry} does not export a function named ${handlerName}`);
} catch (error) {
  parentPort.postMessage({ type: 'init_error', error: serialise(error) });
}

parentPort.on('message', async (message) => {
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
  // This thread's CPU time during the invocation (one invocation at a time per environment, as on
  // Lambda): the bench scales it to the vCPU share Lambda gives the function's memory.
  const cpuBefore = process.threadCpuUsage();
  const timing = () => {
    const cpu = process.threadCpuUsage(cpuBefore);
    return { durationMs: performance.now() - invoked, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
  let answer;
  try {
    const result = await handler(message.event, context);
    answer = { type: 'result', id: message.id, ok: true, result: result === undefined ? null : result, ...timing() };
  } catch (error) {
    answer = { type: 'result', id: message.id, ok: false, error: serialise(error), ...timing() };
  }
  answerAndFreeze(answer);
});

if (handler !== undefined) answerAndFreeze({ type: 'ready', initMs: performance.now() - started });

function serialise(error) {
  return { name: error?.name ?? 'Error', message: error?.message ?? String(error), stack: error?.stack };
}
