// Subscribes with the published Motia stream client and prints every state it reaches, one JSON line each.
// usage: node watch.mjs <ws-url> <stream> <group> <item-id> [token]   (stdin closing ends it)
import { Stream } from '@motiadev/stream-client-node'

const [url, streamName, groupId, itemId, token] = process.argv.slice(2)
const stream = new Stream(url, token ? { protocols: ['Authorization', token] } : undefined)
const print = (record) => process.stdout.write(`${JSON.stringify(record)}\n`)

const group = stream.subscribeGroup(streamName, groupId, 'id')
group.addChangeListener((items) => print({ kind: 'group', items }))
group.onEvent('ping', (data) => print({ kind: 'group-event', data }))

const item = stream.subscribeItem(streamName, groupId, itemId)
item.addChangeListener((value) => print({ kind: 'item', value }))
item.onEvent('ping', (data) => print({ kind: 'item-event', data }))

const stop = (code) => {
  group.close()
  item.close()
  stream.close()
  process.exit(code)
}
process.stdin.on('end', () => stop(0))
process.stdin.resume()
setTimeout(() => stop(2), 120_000).unref()
