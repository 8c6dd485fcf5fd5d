/**
 * Copy src[srcStart, srcEnd) to dst at dstOff (memmove semantics).
 * (Buffer.copy's typings clash with TS >= 5.7 + @types/node 20; this is the
 * same memmove through TypedArray.prototype.set.)
 */
export function copyBytes(src: Buffer, srcStart: number, srcEnd: number, dst: Buffer, dstOff: number): void {
  dst.set(src.subarray(srcStart, srcEnd), dstOff);
}
