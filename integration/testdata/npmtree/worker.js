'use strict';
// The worker the server starts. It exits on SIGTERM, or with
// NPMTREE_WORKER_IGNORE_TERM=1 logs it and keeps running, as workers
// stuck in a long job do. Events go to $NPMTREE_STATE/events.

const fs = require('node:fs');
const path = require('node:path');

const events = path.join(process.env.NPMTREE_STATE || '.', 'events');
const record = (line) => fs.appendFileSync(events, line + '\n');

process.on('SIGTERM', () => {
  if (process.env.NPMTREE_WORKER_IGNORE_TERM === '1') {
    record('worker: SIGTERM ignored');
    return;
  }
  record('worker: SIGTERM');
  process.exit(0);
});

setInterval(() => {}, 1 << 30);
record(`worker: ready pid=${process.pid}`);
