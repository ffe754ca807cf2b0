/** A helper module beside the steps: bundled into each step that imports it. */
export function ticketId(title: string): string {
  return 'T-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-')
}
