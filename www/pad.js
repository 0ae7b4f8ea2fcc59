// The drawing pad: dark ink on white paper with mouse, touch or pen (pointer events), or an image
// file drawn onto it. The Rust side crops, scales and centres whatever is there like MNIST.
export class DrawingPad {
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { willReadFrequently: true });
    this.onChange = onChange;
    this.inked = false;
    this.clear();
    let last = null;
    const point = (e) => {
      const r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * (canvas.width / r.width), (e.clientY - r.top) * (canvas.height / r.height)];
    };
    canvas.addEventListener('pointerdown', (e) => {
      canvas.setPointerCapture(e.pointerId);
      last = point(e);
      this.stroke(last, last);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!last) return;
      const p = point(e);
      this.stroke(last, p);
      last = p;
    });
    const end = () => { last = null; };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  stroke(from, to) {
    const { ctx } = this;
    ctx.strokeStyle = '#111';
    ctx.lineWidth = this.canvas.width / 14;   // about a 2-pixel MNIST stroke
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(...from);
    ctx.lineTo(...to);
    ctx.stroke();
    this.inked = true;
    this.picture = null;   // drawing over an opened picture: predict what the pad shows
    this.onChange();
  }

  clear() {
    this.ctx.fillStyle = '#fff';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.inked = false;
    this.picture = null;
  }

  // An image file: predicted from its own pixels (at most 280 px a side), shown on the pad.
  // Rejects when the browser cannot decode it.
  async drawImageFile(file) {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, this.canvas.width / bitmap.width, this.canvas.height / bitmap.height);
    const [w, h] = [Math.max(1, Math.round(bitmap.width * scale)), Math.max(1, Math.round(bitmap.height * scale))];
    const own = new OffscreenCanvas(w, h).getContext('2d');
    own.drawImage(bitmap, 0, 0, w, h);
    const data = own.getImageData(0, 0, w, h).data;
    this.clear();
    // The paper takes the picture's corner colour, so a dark picture is shown on dark.
    this.ctx.fillStyle = `rgb(${data[0]}, ${data[1]}, ${data[2]})`;
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.ctx.drawImage(bitmap, (this.canvas.width - w) / 2, (this.canvas.height - h) / 2, w, h);
    this.picture = { rgba: data, width: w, height: h };
  }

  // What to predict: the opened picture, else the pad's RGBA pixels; null when empty.
  pixels() {
    if (this.picture) return this.picture;
    if (!this.inked) return null;
    const { width, height } = this.canvas;
    return { rgba: this.ctx.getImageData(0, 0, width, height).data, width, height };
  }
}
