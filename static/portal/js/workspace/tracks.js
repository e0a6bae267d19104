// Video tracks in the workspace: the JavaScript port of annotations.geometry.track_frames.
// It must give exactly what the server gives (tests/annotations/track_vectors.json is checked
// against it by tests/portal/test_track_interpolation_js.py): same formula, same order of
// IEEE-754 operations. Boxes are normalized 0-1, as the video_track contract keeps them.

const KEYS = ["x", "y", "w", "h"];

export function interpolateBox(a, b, t) {
  const out = {};
  for (const k of KEYS) out[k] = a[k] + (b[k] - a[k]) * t;
  return out;
}

/** Every visible frame of a track: [{frame_index, bbox, occluded, keyframe, source}]. */
export function trackFrames(keyframes, frameCount = null) {
  const frames = [];
  if (!keyframes || keyframes.length === 0) return frames;
  for (let i = 0; i < keyframes.length; i += 1) {
    const current = keyframes[i];
    const next = i + 1 < keyframes.length ? keyframes[i + 1] : null;
    if (current.absent) continue;
    const start = current.frame_index;
    if (frameCount !== null && start >= frameCount) return frames;
    frames.push({
      frame_index: start,
      bbox: { ...current.bbox },
      occluded: Boolean(current.occluded),
      keyframe: true,
      source: current.source ?? "manual",
    });
    if (next === null || next.absent) continue;
    const end = next.frame_index;
    const span = end - start;
    for (let frame = start + 1; frame < end; frame += 1) {
      if (frameCount !== null && frame >= frameCount) return frames;
      frames.push({
        frame_index: frame,
        bbox: interpolateBox(current.bbox, next.bbox, (frame - start) / span),
        occluded: Boolean(current.occluded),
        keyframe: false,
        source: "interpolated",
      });
    }
  }
  return frames;
}

/** The track's box on one frame, or null where the object is not visible. */
export function boxAt(keyframes, frameIndex, frameCount = null) {
  for (const item of trackFrames(keyframes, frameCount)) {
    if (item.frame_index === frameIndex) return item;
    if (item.frame_index > frameIndex) return null;
  }
  return null;
}

/** Set (or replace) a keyframe at frameIndex, keeping the list sorted. */
export function setKeyframe(keyframes, keyframe) {
  const rest = keyframes.filter((k) => k.frame_index !== keyframe.frame_index);
  rest.push(keyframe);
  rest.sort((a, b) => a.frame_index - b.frame_index);
  return rest;
}

/** Remove the keyframe at frameIndex (the frames around it interpolate again). */
export function removeKeyframe(keyframes, frameIndex) {
  return keyframes.filter((k) => k.frame_index !== frameIndex);
}
