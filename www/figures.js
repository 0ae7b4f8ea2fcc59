// Small helpers the page's views share: 28×28 digits as canvases (test digits, mistakes, the
// augmentation preview, the prediction's input) and files handed to the browser to save.

// A 28×28 grayscale image (one byte a pixel) as canvas pixels.
export function grayImage(pixels) {
  const image = new ImageData(28, 28);
  pixels.forEach((v, p) => image.data.set([v, v, v, 255], p * 4));
  return image;
}

// A test digit with the model's answer under it; a wrong one is marked and gives the label too.
export function digitFigure(pixels, label, predicted, title) {
  const figure = document.createElement('figure');
  const canvas = Object.assign(document.createElement('canvas'), { width: 28, height: 28 });
  canvas.getContext('2d').putImageData(grayImage(pixels), 0, 0);
  const caption = document.createElement('figcaption');
  const wrong = predicted !== label;
  caption.textContent = wrong ? `${predicted} (${label})` : `${predicted}`;
  figure.className = wrong ? 'wrong' : '';
  figure.title = title;
  figure.append(canvas, caption);
  return figure;
}

export function download(contents, type, name) {
  const url = URL.createObjectURL(new Blob([contents], { type }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function downloadWeights(bytes, precision = 'f32') {
  download(bytes, 'application/octet-stream', precision === 'int8' ? 'kindling-mnist-int8.kndl' : 'kindling-mnist.kndl');
}
