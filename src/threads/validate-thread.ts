import { runValidateTask, type ValidateOutcome, type ValidateTask } from '../validation/validate-task.js';

/** Piscina entry of the validation pool (workers/validation-pool.ts): the task runs as it would inline. */
export default function validate(task: ValidateTask): Promise<ValidateOutcome> {
  return runValidateTask(task);
}
