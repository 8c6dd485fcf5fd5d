/*
 * Prefix tracking for one field of one classifier subtable (the role of
 * OVS's tries in lib/classifier.c). Every rule of a subtable matches the
 * field with the same prefix length, so the question a lookup asks is: does
 * any rule's prefix equal the packet's, and if not, how many leading bits of
 * the packet prove that none can? Those bits (longest common prefix + 1) are
 * all the megaflow needs to un-wildcard to skip the subtable.
 *
 * A crit-bit tree over the prefixes answers both in O(log n): the leaf the
 * packet's bits lead to shares the longest common prefix with the packet of
 * all the stored prefixes.
 */

type Key = number | bigint;

interface Leaf { leaf: true; key: Key; refs: number }
interface Inner { leaf: false; bit: number; kids: [Node, Node] }
type Node = Leaf | Inner;

export class PrefixTree {
  private root: Node | undefined;
  private nKeys = 0;

  /** `plen` bits per key; keys up to 32 bits are numbers, longer ones bigints. */
  constructor(readonly plen: number) {}

  get size(): number { return this.nKeys; }

  private bitAt(k: Key, i: number): number {
    if (typeof k === 'number') return (k >>> (this.plen - 1 - i)) & 1;
    return Number((k >> BigInt(this.plen - 1 - i)) & 1n);
  }

  /** Length of the common prefix of a and b (plen when equal). */
  lcp(a: Key, b: Key): number {
    if (typeof a === 'number') {
      const x = (a ^ (b as number)) >>> 0;
      return x === 0 ? this.plen : this.plen - (32 - Math.clz32(x));
    }
    const x = a ^ (b as bigint);
    return x === 0n ? this.plen : this.plen - x.toString(2).length;
  }

  private walk(k: Key): Leaf {
    let n = this.root!;
    while (!n.leaf) n = n.kids[this.bitAt(k, n.bit)];
    return n;
  }

  insert(k: Key): void {
    if (!this.root) { this.root = { leaf: true, key: k, refs: 1 }; this.nKeys = 1; return; }
    const best = this.walk(k);
    const crit = this.lcp(k, best.key);
    if (crit === this.plen) { best.refs++; return; }
    const leaf: Leaf = { leaf: true, key: k, refs: 1 };
    const dir = this.bitAt(k, crit);
    // Insert the new inner node above the first node that tests a later bit.
    let parent: Inner | undefined;
    let n = this.root;
    while (!n.leaf && n.bit < crit) { parent = n; n = n.kids[this.bitAt(k, n.bit)]; }
    const inner: Inner = { leaf: false, bit: crit, kids: dir ? [n, leaf] : [leaf, n] };
    if (parent) parent.kids[this.bitAt(k, parent.bit)] = inner;
    else this.root = inner;
    this.nKeys++;
  }

  remove(k: Key): void {
    let grand: Inner | undefined;
    let parent: Inner | undefined;
    let n = this.root;
    while (n && !n.leaf) { grand = parent; parent = n; n = n.kids[this.bitAt(k, n.bit)]; }
    if (!n || this.lcp(n.key, k) !== this.plen) return;
    if (--n.refs > 0) return;
    this.nKeys--;
    if (!parent) { this.root = undefined; return; }
    const sibling = parent.kids[this.bitAt(k, parent.bit) ^ 1];
    if (!grand) this.root = sibling;
    else grand.kids[this.bitAt(k, grand.bit)] = sibling;
  }

  /**
   * -1 when some stored prefix equals `k`; otherwise the number of leading
   * bits of `k` that rule out every stored prefix.
   */
  check(k: Key): number {
    if (!this.root) return 0;
    const l = this.lcp(k, this.walk(k).key);
    return l === this.plen ? -1 : l + 1;
  }
}
