/** What stores share about the ticket-key ring they keep (writeKeyRing). */

/** Whether the stored ring (undefined: none) is the `expected` one of a compare-and-swap (null: none). */
export function sameRing(stored: Buffer | undefined, expected: Buffer | null): boolean {
  return expected === null ? stored === undefined : stored !== undefined && stored.equals(expected);
}
