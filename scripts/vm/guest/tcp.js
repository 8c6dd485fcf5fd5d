// TCP transfer for the guest smoke: `node tcp.js server PORT` prints "<bytes> <sha256>"
// of what one connection sent; `node tcp.js client HOST PORT BYTES` sends BYTES random
// bytes and prints "<bytes> <sha256>" of what it sent.
'use strict';
const net = require('net');
const crypto = require('crypto');
const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'server') {
  const h = crypto.createHash('sha256');
  let n = 0;
  const srv = net.createServer((s) => {
    s.on('data', (d) => { n += d.length; h.update(d); });
    s.on('end', () => { console.log(`${n} ${h.digest('hex')}`); process.exit(0); });
    s.on('error', (e) => { console.log(`error ${e.message} after ${n}`); process.exit(1); });
  }).listen(Number(a));
  srv.on('listening', () => console.error('listening'));
  setTimeout(() => { console.log(`timeout ${n}`); process.exit(2); }, 60000).unref();
} else {
  const data = crypto.randomBytes(Number(c));
  const s = net.connect(Number(b), a, () => s.end(data));
  s.on('close', () => console.log(`${data.length} ${crypto.createHash('sha256').update(data).digest('hex')}`));
  s.on('error', (e) => { console.error(e.message); process.exit(1); });
}
