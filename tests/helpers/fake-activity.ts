import type { EngineActivity } from "@/lib/engine/background-model";

/** A stand-in for the engine's slot pool (what background work yields to): set it busy or idle by hand. */
export function fakeActivity() {
  let busy = false;
  const listeners = new Set<(b: boolean) => void>();
  const activity: EngineActivity = {
    isBusy: () => busy,
    onChange: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return {
    activity,
    listeners,
    set(b: boolean) {
      busy = b;
      for (const l of [...listeners]) l(b);
    },
  };
}
