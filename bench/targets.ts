export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean;
}

export function target(name: string, goal: string, measured: string, met: boolean): Target {
  return { name, goal, measured, met };
}
