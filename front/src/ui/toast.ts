/**
 * Toasts (element-plus messages), in one place: a new toast tells its listeners first, so that a page can clear an
 * older banner it shows (the calls page drops "You cancelled the call." when a new toast comes).
 */
import { ElMessage } from 'element-plus';
import 'element-plus/es/components/message/style/css';

type ToastType = 'success' | 'info' | 'warning' | 'error';

const listeners = new Set<(type: ToastType) => void>();

/** Called before each new toast; returns the unsubscribe function. */
export function onToast(listener: (type: ToastType) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function show(type: ToastType, message: string): void {
  for (const listener of [...listeners]) listener(type);
  ElMessage({ type, message, grouping: true });
}

export const toast = {
  success: (message: string) => show('success', message),
  info: (message: string) => show('info', message),
  warning: (message: string) => show('warning', message),
  error: (message: string) => show('error', message),
};
