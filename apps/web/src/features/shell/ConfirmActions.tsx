import type { ReactNode } from "react";

interface ConfirmActionsProps {
  /** True once the user asked for the destructive action: the row's other actions give way to the confirmation. */
  confirming: boolean;
  /** Accessible name of the confirm button, naming what it acts on (e.g. "Confirm deleting plan lab"). */
  confirmLabel: string;
  /** Visible text of the confirm button. */
  confirmText?: string;
  /** Said next to the buttons, e.g. what the action does that cannot be undone. */
  warning?: ReactNode;
  pending: boolean;
  onConfirm: () => void;
  onKeep: () => void;
  /** The actions shown while not confirming, among them the one that sets `confirming`. */
  children?: ReactNode;
}

// Destructive actions are asked twice: the first click only swaps the actions for "Confirm …" and "Keep".
export function ConfirmActions({
  confirming,
  confirmLabel,
  confirmText = "Confirm delete",
  warning,
  pending,
  onConfirm,
  onKeep,
  children,
}: ConfirmActionsProps) {
  if (!confirming) return <>{children}</>;
  return (
    <>
      {warning ? <span>{warning}</span> : null}
      <button
        type="button"
        className="danger"
        aria-label={confirmLabel}
        disabled={pending}
        onClick={onConfirm}
      >
        {confirmText}
      </button>
      <button type="button" onClick={onKeep}>
        Keep
      </button>
    </>
  );
}
