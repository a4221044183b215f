// serve.js runs kinesalite (an in-memory Kinesis emulator) on a loopback
// address for `courier bench aws`: kinesalite's own CLI listens on every
// interface. Streams are created, deleted and updated at once.
//
//   node serve.js PORT
//
// It prints "listening 127.0.0.1:PORT" once it accepts connections (PORT 0
// picks a free port) and exits when its standard input closes, so that it
// does not outlive the benchmark that started it.
'use strict'

const kinesalite = require('kinesalite')

const port = Number(process.argv[2] || 0)
const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0 })
server.listen(port, '127.0.0.1', () => {
  const a = server.address()
  process.stdout.write(`listening ${a.address}:${a.port}\n`)
})
server.on('error', (err) => {
  process.stderr.write(`kinesalite: ${err.stack || err}\n`)
  process.exit(1)
})
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
