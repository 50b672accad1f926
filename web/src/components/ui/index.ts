// Shared UI primitives. Import from '@/components/ui'.
export { Badge, StatusBadge, type BadgeProps, type BadgeTone, type StatusBadgeProps } from './Badge';
export { Button, buttonClassName, type ButtonProps, type ButtonSize, type ButtonVariant } from './Button';
export { Card, type CardProps } from './Card';
export { ConfirmDialog, type ConfirmDialogProps } from './ConfirmDialog';
export { EmptyState, type EmptyStateProps } from './EmptyState';
export { ErrorMessage, type ErrorMessageProps } from './ErrorMessage';
export {
  Checkbox,
  Select,
  TextArea,
  TextField,
  type CheckboxProps,
  type FieldProps,
  type SelectOption,
  type SelectProps,
  type TextAreaProps,
  type TextFieldProps,
} from './Field';
export { PageHeader, type PageHeaderProps } from './PageHeader';
export { PageSpinner, Spinner, type SpinnerProps } from './Spinner';
