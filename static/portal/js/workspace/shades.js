// Propagation runs on the timeline: one blue, each later run a darker shade of it, so the
// order of the runs reads at a glance.

export const PROPAGATION_HUE = 214;

/** The colour of run `index` (0 = oldest) among `count` runs: same hue, lightness falling. */
export function runShade(index, count) {
  const lightest = 80;
  const darkest = 28;
  const step = count > 1 ? (lightest - darkest) / (count - 1) : 0;
  const lightness = Math.round((lightest - step * index) * 10) / 10;
  return `hsl(${PROPAGATION_HUE} 85% ${lightness}%)`;
}
