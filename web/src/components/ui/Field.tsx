// Form controls with their <label>, an optional hint and an error message, wired for
// assistive technology: `aria-describedby` names the hint and the error, `aria-invalid`
// is set while there is an error. Pass `error` as a string (or undefined when valid).
import { useId, type ComponentPropsWithRef, type ReactNode } from 'react';
import { cx } from '@/lib/cx';

export interface FieldProps {
  /** Visible label (required: every control is labelled). */
  label: ReactNode;
  /** Help text under the control. */
  hint?: ReactNode;
  /** Validation message; marks the control invalid. */
  error?: string | undefined;
}

/** Ids and ARIA attributes shared by every field. */
function useFieldIds(id: string | undefined, hint: ReactNode, error: string | undefined, describedBy?: string) {
  const generated = useId();
  const controlId = id ?? generated;
  const hintId = hint ? `${controlId}-hint` : undefined;
  const errorId = error ? `${controlId}-error` : undefined;
  const describedByIds = [describedBy, hintId, errorId].filter(Boolean).join(' ') || undefined;
  return { controlId, hintId, errorId, aria: { 'aria-describedby': describedByIds, 'aria-invalid': error ? true : undefined } };
}

function FieldMessages({ hint, hintId, error, errorId }: { hint: ReactNode; hintId?: string | undefined; error?: string | undefined; errorId?: string | undefined }) {
  return (
    <>
      {hint && (
        <div id={hintId} className="field__hint">
          {hint}
        </div>
      )}
      {error && (
        <div id={errorId} className="field__error">
          {error}
        </div>
      )}
    </>
  );
}

function FieldLabel({ htmlFor, label, required }: { htmlFor: string; label: ReactNode; required?: boolean | undefined }) {
  return (
    <label htmlFor={htmlFor} className="field__label">
      {label}
      {required && (
        <span className="field__required" aria-hidden="true">
          {' '}
          *
        </span>
      )}
    </label>
  );
}

export type TextFieldProps = FieldProps & ComponentPropsWithRef<'input'>;

/** A labelled <input> (text, email, password, number, …). */
export function TextField({ label, hint, error, id, className, required, 'aria-describedby': describedBy, ...input }: TextFieldProps) {
  const { controlId, hintId, errorId, aria } = useFieldIds(id, hint, error, describedBy);
  return (
    <div className={cx('field', className)}>
      <FieldLabel htmlFor={controlId} label={label} required={required} />
      <input id={controlId} className="field__control" required={required} {...aria} {...input} />
      <FieldMessages hint={hint} hintId={hintId} error={error} errorId={errorId} />
    </div>
  );
}

export type TextAreaProps = FieldProps & ComponentPropsWithRef<'textarea'>;

/** A labelled <textarea>. */
export function TextArea({ label, hint, error, id, className, required, 'aria-describedby': describedBy, ...textarea }: TextAreaProps) {
  const { controlId, hintId, errorId, aria } = useFieldIds(id, hint, error, describedBy);
  return (
    <div className={cx('field', className)}>
      <FieldLabel htmlFor={controlId} label={label} required={required} />
      <textarea id={controlId} className="field__control field__control--textarea" required={required} {...aria} {...textarea} />
      <FieldMessages hint={hint} hintId={hintId} error={error} errorId={errorId} />
    </div>
  );
}

export interface SelectOption {
  value: string;
  label: string;
  disabled?: boolean;
}

export type SelectProps = FieldProps &
  ComponentPropsWithRef<'select'> & {
    /** Options; alternatively pass <option> children. */
    options?: readonly SelectOption[];
  };

/** A labelled <select>. */
export function Select({ label, hint, error, id, className, required, options, children, 'aria-describedby': describedBy, ...select }: SelectProps) {
  const { controlId, hintId, errorId, aria } = useFieldIds(id, hint, error, describedBy);
  return (
    <div className={cx('field', className)}>
      <FieldLabel htmlFor={controlId} label={label} required={required} />
      <select id={controlId} className="field__control field__control--select" required={required} {...aria} {...select}>
        {options?.map((option) => (
          <option key={option.value} value={option.value} disabled={option.disabled}>
            {option.label}
          </option>
        ))}
        {children}
      </select>
      <FieldMessages hint={hint} hintId={hintId} error={error} errorId={errorId} />
    </div>
  );
}

export type CheckboxProps = FieldProps & Omit<ComponentPropsWithRef<'input'>, 'type'>;

/** A checkbox with its label beside it. */
export function Checkbox({ label, hint, error, id, className, 'aria-describedby': describedBy, ...input }: CheckboxProps) {
  const { controlId, hintId, errorId, aria } = useFieldIds(id, hint, error, describedBy);
  return (
    <div className={cx('field field--checkbox', className)}>
      <div className="field__checkbox-row">
        <input id={controlId} type="checkbox" className="field__checkbox" {...aria} {...input} />
        <label htmlFor={controlId} className="field__label">
          {label}
        </label>
      </div>
      <FieldMessages hint={hint} hintId={hintId} error={error} errorId={errorId} />
    </div>
  );
}
