import { setFlagsFromString } from 'node:v8';

/**
 * For the long-running services (extract, load, verify). What they hold at once is small and
 * bounded (the batches in flight), but V8 by default lets garbage grow to about 3.5× what
 * survived before a full collection. Letting the heap grow only 100 % past it keeps RSS near
 * the data in flight for little time (1M tasks, `liteshift extract` / `load`: V8's default
 * 8.9 s / 279 MB and 8.3 s / 262 MB; 100 %: 9.7 s / 205 MB and 9.7 s / 201 MB; 20 %, the
 * setting until the Avro → COPY transcoder cut most garbage: 11.2 s / 192 MB and 10.1 s /
 * 180 MB). Not for `migrate`: its extractor and loader thread share two cores and the
 * extra collections cost it more than the memory is worth. Takes effect from the next
 * collection: V8 reads it then.
 */
export function keepHeapNearLiveData(): void {
  setFlagsFromString('--heap-growing-percent=100');
}
