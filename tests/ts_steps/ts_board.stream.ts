// A stream declared in TypeScript, as Motia's *.stream.ts files do: a zod schema and a canAccess hook.
import { z } from 'zod'

export const config = {
  name: 'tsBoard',
  schema: z.object({ title: z.string(), votes: z.number().int().min(0) }),
  baseConfig: { storageType: 'default' },
  // alice (a Django user, or the context an authenticate hook returned) reads every group; others 'public'
  canAccess: (subscription: { groupId: string }, authContext: { username?: string; user?: string } | null) =>
    subscription.groupId === 'public' || [authContext?.username, authContext?.user].includes('alice'),
}
