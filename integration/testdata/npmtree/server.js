'use strict';
// The server of the npm tree: started by `npm run start`, it starts a
// worker of its own, the shape of most Node services in containers:
//
//   reaper-init -> npm run start -> node server.js -> node worker.js
//
// Environment:
//   NPMTREE_STATE        directory for the events file (default: .)
//   NPMTREE_SERVER_EXIT  exit code after SIGTERM (default 0)
//   NPMTREE_SERVER_IGNORE_TERM=1  log SIGTERM and keep running
//   NPMTREE_SERVER_WAIT_WORKER=0  on SIGTERM exit at once instead of
//                                 waiting for the worker to exit first
//
// Every event is one line appended to $NPMTREE_STATE/events.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const events = path.join(process.env.NPMTREE_STATE || '.', 'events');
const record = (line) => fs.appendFileSync(events, line + '\n');

let workerAlive = true;
const worker = spawn(process.execPath, [path.join(__dirname, 'worker.js')], {
  stdio: 'inherit',
});
worker.on('exit', (code, signal) => {
  workerAlive = false;
  record(`server: worker exited code=${code} signal=${signal}`);
});

// A graceful stop: the worker got the same SIGTERM (it is in the same
// process group); let it finish, then exit.
process.on('SIGTERM', () => {
  if (process.env.NPMTREE_SERVER_IGNORE_TERM === '1') {
    record('server: SIGTERM ignored');
    return;
  }
  record('server: SIGTERM');
  const code = Number(process.env.NPMTREE_SERVER_EXIT || 0);
  if (workerAlive && process.env.NPMTREE_SERVER_WAIT_WORKER !== '0') {
    worker.once('exit', () => process.exit(code));
    return;
  }
  process.exit(code);
});

// Stand in for a listening socket: keep the event loop alive.
setInterval(() => {}, 1 << 30);
record(`server: ready pid=${process.pid}`);
