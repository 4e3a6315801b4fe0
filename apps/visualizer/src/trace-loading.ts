/*
 * Traces into the page: the bundled ones (fetched from the build's assets) and files the user
 * picks. The bytes are streamed through the browser's gunzip (DecompressionStream) when they
 * start with the gzip magic, and into @tsmalloc/trace's TraceParser chunk by chunk, so that a large
 * trace is never held as one string.
 */
import { isGzip, type Trace, TraceFormatError, traceName, TraceParser } from "@tsmalloc/trace/browser";

/** Called as the compressed (or plain) bytes are read: read so far, total. */
export type LoadProgress = (read: number, total: number) => void;

/**
 * Parses a trace from a file or a fetched body.
 * @param name - what messages and the page call the trace (a file name is shortened as the CLI
 *   does: `py_compileall.trace.gz` is `py_compileall`)
 * @throws TraceFormatError for a malformed line (`name:line: why`, with the name as given); Error "not a valid gzip
 *   file" when the gzip stream is damaged; Error when the trace has no events
 */
export async function traceFromBlob(blob: Blob, name: string, onProgress?: LoadProgress): Promise<Trace> {
  const head = new Uint8Array(await blob.slice(0, 2).arrayBuffer());
  const gzip = isGzip(head);
  let read = 0;
  let stream: ReadableStream<Uint8Array> = blob.stream().pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.length;
        onProgress?.(read, blob.size);
        controller.enqueue(chunk);
      },
    }),
  );
  if (gzip) stream = stream.pipeThrough(new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>);
  const parser = new TraceParser(traceName(name));
  const reader = stream.getReader();
  let trace: Trace;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(value);
    }
    trace = parser.end();
  } catch (error) {
    // messages name the file as the user gave it, as the command line does (PATH:LINE: why)
    if (error instanceof TraceFormatError) throw new TraceFormatError(name, error.line, error.reason);
    if (gzip) throw new Error(`${name}: not a valid gzip file (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    throw error;
  }
  if (trace.length === 0) throw new Error(`${name}: the trace has no events`);
  return trace;
}

/**
 * Fetches and parses a trace from `url`.
 * @throws Error when the server answers with anything but 200; as {@link traceFromBlob}
 */
export async function traceFromUrl(url: string, name: string, onProgress?: LoadProgress): Promise<Trace> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${name}: the server answered ${response.status} ${response.statusText}`);
  return traceFromBlob(await response.blob(), name, onProgress);
}
