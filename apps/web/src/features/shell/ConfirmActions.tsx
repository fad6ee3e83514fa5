import { type ReactNode, useState } from "react";

interface ConfirmActionsProps {
  /** True once the user asked for the destructive action: the other actions give way to the confirmation. */
  confirming: boolean;
  /** Accessible name of the button that asks, naming what it acts on (e.g. "Delete plan lab"). */
  askLabel?: string;
  /** Visible text of the button that asks, e.g. "Delete". */
  askText: string;
  /** Shows the asking button as dangerous already (revoking, unenrolling). */
  askDanger?: boolean;
  /** Called by the asking button: the page sets `confirming` (and clears the action's last error). */
  onAsk: () => void;
  /** Accessible name of the confirm button (e.g. "Confirm deleting plan lab"). */
  confirmLabel: string;
  /** Visible text of the confirm button. */
  confirmText?: string;
  /** Said next to the buttons, e.g. what the action does that cannot be undone. */
  warning?: ReactNode;
  pending: boolean;
  onConfirm: () => void;
  onKeep: () => void;
  /** Other actions, shown before the asking button while not confirming. */
  children?: ReactNode;
}

// Destructive actions are asked twice: the first click only swaps the actions for "Confirm …" and "Keep".
export function ConfirmActions({
  confirming,
  askLabel,
  askText,
  askDanger = false,
  onAsk,
  confirmLabel,
  confirmText = "Confirm delete",
  warning,
  pending,
  onConfirm,
  onKeep,
  children,
}: ConfirmActionsProps) {
  if (!confirming) {
    return (
      <>
        {children}
        <button
          type="button"
          className={askDanger ? "danger" : undefined}
          aria-label={askLabel}
          onClick={onAsk}
        >
          {askText}
        </button>
      </>
    );
  }
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

/** The delete mutation of a list page, as the confirmation needs it. */
interface DeleteMutation {
  isPending: boolean;
  reset: () => void;
}

/**
 * The delete confirmation of a list page: one row at a time asks "Confirm deleting …". `props` gives a
 * row's {@link ConfirmActions} its labels and handlers; call `done` when the delete succeeded.
 */
export function useRowDelete() {
  const [confirming, setConfirming] = useState<string | null>(null);
  return {
    done: () => setConfirming(null),
    /** `what` names the row as the labels say it, e.g. "plan lab". */
    props: (id: string, what: string, remove: DeleteMutation, onConfirm: () => void) => ({
      confirming: confirming === id,
      confirmLabel: `Confirm deleting ${what}`,
      askLabel: `Delete ${what}`,
      askText: "Delete",
      pending: remove.isPending,
      onConfirm,
      onKeep: () => setConfirming(null),
      onAsk: () => {
        remove.reset();
        setConfirming(id);
      },
    }),
  };
}
