/*
 * Pure perf ring walking (no native dependencies, unit-testable without root).
 *
 * A perf ring data area holds records, each a struct perf_event_header
 * { u32 type; u16 misc; u16 size; } followed by size - 8 bytes of body,
 * written at free-running byte positions taken modulo the area size; a
 * record may wrap around the end of the area.
 */
import { copyBytes } from './bytes';

export const PERF_RECORD_LOST = 2;
export const PERF_RECORD_SAMPLE = 9;

/** struct perf_event_mmap_page: offsets of data_head / data_tail (from the start of the mmap) */
export const MMAP_DATA_HEAD_OFF = 1024;
export const MMAP_DATA_TAIL_OFF = 1032;

/**
 * Called once per record with the record body (what follows the 8-byte
 * struct perf_event_header) in buf[off, off+len). `buf` is either the ring
 * itself or a scratch copy (for a record that wraps around the end of the
 * ring); it is only valid during the call.
 */
export type RingRecordFn = (type: number, buf: Buffer, off: number, len: number) => void;

let scratch = Buffer.alloc(65536);

function copyWrapped(data: Buffer, off: number, len: number): Buffer {
  if (scratch.length < len) scratch = Buffer.alloc(Math.max(len, scratch.length * 2));
  const size = data.length;
  const first = Math.min(len, size - off);
  copyBytes(data, off, off + first, scratch, 0);
  if (first < len) copyBytes(data, 0, len - first, scratch, first);
  return scratch;
}

/**
 * Walk the records of one perf ring data area.
 *
 * @param data   the data area (the pages after struct perf_event_mmap_page);
 *               positions are taken modulo data.length
 * @param head   data_head (free-running byte counter, as read from the page)
 * @param tail   data_tail (free-running byte counter; where we stopped)
 * @param budget maximum number of records to hand out in this call
 * @returns the new tail (store it into data_tail); equals head when the ring
 *          was drained. A malformed header (size < 8 or past head) makes the
 *          walk give up and return head: the rest of the ring is skipped.
 */
export function walkRing(data: Buffer, head: number, tail: number, budget: number, onRecord: RingRecordFn): number {
  const size = data.length;
  let n = 0;
  while (tail < head && n < budget) {
    const avail = head - tail;
    if (avail < 8) return head;
    const off = tail % size;
    let type: number;
    let recSize: number;
    if (off + 8 <= size) {
      type = data.readUInt32LE(off);
      recSize = data.readUInt16LE(off + 6);
    } else {
      const h = copyWrapped(data, off, 8);
      type = h.readUInt32LE(0);
      recSize = h.readUInt16LE(6);
    }
    if (recSize < 8 || recSize > avail) return head;
    const bodyLen = recSize - 8;
    const bodyOff = (off + 8) % size;
    if (bodyOff + bodyLen <= size) onRecord(type, data, bodyOff, bodyLen);
    else onRecord(type, copyWrapped(data, bodyOff, bodyLen), 0, bodyLen);
    tail += recSize;
    n++;
  }
  return tail;
}

