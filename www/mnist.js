// MNIST for the workers: the four gzip IDX files from data/, inflated in the browser
// (DecompressionStream), with progress in compressed bytes. The Rust reader validates them.
export const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
                      't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

/** One inflated IDX file from data/ (`name` without `.gz`). */
export async function fetchIdx(name, onBytes = () => {}) {
  const response = await fetch(`data/${name}.gz`);
  if (!response.ok) throw new Error(`data/${name}.gz: HTTP ${response.status} (run ./build.sh serve)`);
  const counted = response.body.pipeThrough(new TransformStream({
    transform(chunk, controller) { onBytes(chunk.byteLength); controller.enqueue(chunk); },
  }));
  const inflated = counted.pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(inflated).arrayBuffer());
}

/** The four files, in FILES order; `onProgress(loaded, total)` as compressed bytes arrive. */
export async function loadMnist(onProgress = () => {}) {
  const sizes = await Promise.all(FILES.map(async (name) => {
    const head = await fetch(`data/${name}.gz`, { method: 'HEAD' });
    return Number(head.headers.get('content-length')) || 0;
  }));
  const total = sizes.reduce((a, b) => a + b, 0);
  let loaded = 0;
  onProgress(loaded, total);
  const files = await Promise.all(FILES.map((name) => fetchIdx(name, (n) => {
    loaded += n;
    onProgress(loaded, total);
  })));
  return { files, total };
}
