// Masks in the workspace: COCO RLE (column-major runs, starting with background) to and from
// a canvas the brush paints on. The API takes list counts and stores them compressed; it
// answers with COCO's compressed string, which decodeCounts reads (pycocotools' rleFrString).

export function decodeCounts(counts) {
  if (Array.isArray(counts)) return counts.slice();
  const out = [];
  let p = 0;
  while (p < counts.length) {
    let x = 0;
    let k = 0;
    let more = 1;
    while (more) {
      const c = counts.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      p += 1;
      k += 1;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (out.length > 2) x += out[out.length - 2];
    out.push(x);
  }
  return out;
}

/** COCO's compressed string for list counts (pycocotools' rleToString). */
export function encodeCounts(counts) {
  let s = "";
  for (let i = 0; i < counts.length; i += 1) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = 1;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/** Binary mask (Uint8Array, row-major, height x width) → list counts (column-major). */
export function maskToCounts(mask, width, height) {
  const counts = [];
  let current = 0;
  let run = 0;
  for (let x = 0; x < width; x += 1) {
    for (let y = 0; y < height; y += 1) {
      const v = mask[y * width + x] ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        run = 0;
        current = v;
      }
      run += 1;
    }
  }
  counts.push(run);
  return counts;
}

/** List or compressed counts → binary mask (Uint8Array, row-major). */
export function countsToMask(counts, width, height) {
  const runs = decodeCounts(counts);
  const mask = new Uint8Array(width * height);
  let pos = 0;
  let value = 0;
  for (const run of runs) {
    if (value) {
      for (let i = pos; i < pos + run; i += 1) {
        const x = Math.floor(i / height);
        const y = i - x * height;
        mask[y * width + x] = 1;
      }
    }
    pos += run;
    value = 1 - value;
  }
  return mask;
}

export function maskArea(mask) {
  let n = 0;
  for (let i = 0; i < mask.length; i += 1) n += mask[i];
  return n;
}

/** Paint a binary mask on a new canvas in a colour (alpha 255 where set). */
export function maskToCanvas(mask, width, height, color) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  const [r, g, b] = hexToRgb(color);
  for (let i = 0; i < mask.length; i += 1) {
    if (!mask[i]) continue;
    const o = i * 4;
    image.data[o] = r;
    image.data[o + 1] = g;
    image.data[o + 2] = b;
    image.data[o + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** The canvas's painted pixels (alpha ≥ 128) as a binary mask. */
export function canvasToMask(canvas) {
  const { width, height } = canvas;
  const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  const mask = new Uint8Array(width * height);
  for (let i = 0; i < mask.length; i += 1) mask[i] = data[i * 4 + 3] >= 128 ? 1 : 0;
  return mask;
}

export function hexToRgb(color) {
  const v = String(color || "#ffffff").replace("#", "");
  return [0, 2, 4].map((i) => parseInt(v.slice(i, i + 2), 16) || 0);
}
