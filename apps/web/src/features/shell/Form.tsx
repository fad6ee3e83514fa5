import { type FormEvent, type InputHTMLAttributes, type ReactNode, useId } from "react";
import { InlineError } from "./InlineError";

/** What a list page shows of its create/edit form: nothing, an empty form, or one row's values to change. */
export type Editing<Fields, Extra = object> =
  | { mode: "closed" }
  | { mode: "create" }
  | ({ mode: "edit"; id: string; initial: Fields } & Extra);

/** The props of a create-or-edit form: it starts from `initial` and hands back the edited fields. */
export interface EditFormProps<Fields> {
  title: string;
  initial: Fields;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  onSubmit: (fields: Fields) => void;
  onCancel: () => void;
}

interface FormCardProps {
  /** The form's heading, which is also its accessible name. */
  title: ReactNode;
  /** Called on submit; the browser's own submission is already prevented. */
  onSubmit: () => void | Promise<void>;
  error: unknown;
  submitLabel: string;
  /** Shown on the submit button while `pending` (e.g. "Saving…"); without it the label stays. */
  pendingLabel?: string;
  pending: boolean;
  /** Further reasons the form cannot be sent yet (e.g. no plan to choose). */
  submitDisabled?: boolean;
  onCancel: () => void;
  /** The fields, and anything said about them, between the heading and the error. */
  children: ReactNode;
}

// The console's create and edit forms: a card headed by its title, the fields, the API's error, submit and cancel.
export function FormCard({
  title,
  onSubmit,
  error,
  submitLabel,
  pendingLabel,
  pending,
  submitDisabled = false,
  onCancel,
  children,
}: FormCardProps) {
  const titleId = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void onSubmit();
  };
  return (
    <form className="card form" onSubmit={submit} aria-labelledby={titleId}>
      <h2 id={titleId}>{title}</h2>
      {children}
      <InlineError error={error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={pending || submitDisabled}>
          {pending && pendingLabel ? pendingLabel : submitLabel}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

type TextFieldProps = Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "onChange" | "children"> & {
  label: ReactNode;
  value: string;
  onChange: (value: string) => void;
};

// A labelled input whose value is kept as the typed text.
export function TextField({ label, value, onChange, ...input }: TextFieldProps) {
  return (
    <label>
      {label}
      <input {...input} value={value} onChange={(event) => onChange(event.target.value)} />
    </label>
  );
}

// A whole number of at least 1. Kept as typed text until submit so that clearing the field to retype it
// does not turn it into 0; the API validates the value.
export function CountField(props: Omit<TextFieldProps, "type" | "min" | "step">) {
  return <TextField type="number" min={1} step={1} {...props} />;
}

interface SelectFieldProps {
  label: ReactNode;
  value: string;
  onChange: (value: string) => void;
  required?: boolean;
  /** The `<option>`s. */
  children: ReactNode;
}

export function SelectField({ label, value, onChange, required, children }: SelectFieldProps) {
  return (
    <label>
      {label}
      <select required={required} value={value} onChange={(event) => onChange(event.target.value)}>
        {children}
      </select>
    </label>
  );
}
