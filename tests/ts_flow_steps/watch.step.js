// JavaScript steps triggered by a state change (with a JS condition) and by a stream change.
import { state, step, stream } from 'motia'

const wantsNotice = (input) => input.groupId === 'tsf-watched' && input.newValue?.notify === true

export const stateWatch = step(
  { name: 'TsfStateWatch', triggers: [state({}, wantsNotice)] },
  async (input, ctx) => {
    await ctx.state.set('tsf-state-seen', input.itemId, {
      old: input.oldValue ?? null, new: input.newValue, trigger: ctx.trigger.type, isState: ctx.is.state(input),
    })
  },
)

export const streamWatch = step(
  { name: 'TsfStreamWatch', triggers: [stream('tsf-board', { groupId: 'lane' })] },
  async (input, ctx) => {
    await ctx.state.set('tsf-stream-seen', `${input.id}-${input.event.type}`, {
      stream: input.streamName, group: input.groupId, data: input.event.data ?? null, isStream: ctx.is.stream(input),
    })
  },
)
