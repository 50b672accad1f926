import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '@/lib/api/errors';
import { RUN_STATUSES } from '@/lib/run-status';
import { Button, Checkbox, ConfirmDialog, ErrorMessage, Select, StatusBadge, TextArea, TextField } from '.';

describe('fields', () => {
  it('wire label, hint and error to the control', () => {
    render(
      <>
        <TextField label="Task" hint="What the team should do." error="Required." />
        <TextArea label="Notes" />
        <Select label="Model" options={[{ value: 'demo', label: 'Demo' }]} />
        <Checkbox label="Allow code" hint="Runs in the sandbox." />
      </>,
    );
    const task = screen.getByRole('textbox', { name: 'Task' });
    expect(task).toHaveAccessibleDescription('What the team should do. Required.');
    expect(task).toBeInvalid();
    expect(screen.getByRole('textbox', { name: 'Notes' })).toBeValid();
    expect(screen.getByRole('combobox', { name: 'Model' })).toHaveValue('demo');
    expect(screen.getByRole('checkbox', { name: 'Allow code' })).toHaveAccessibleDescription('Runs in the sandbox.');
  });
});

describe('Button', () => {
  it('is busy and disabled while loading, keeping its name', () => {
    render(<Button loading>Save</Button>);
    const button = screen.getByRole('button', { name: 'Save' });
    expect(button).toBeDisabled();
    expect(button).toHaveAttribute('aria-busy', 'true');
    expect(button).toHaveAttribute('type', 'button');
  });
});

describe('StatusBadge', () => {
  it('names every run status', () => {
    render(
      <>
        {RUN_STATUSES.map((status) => (
          <StatusBadge key={status} status={status} />
        ))}
      </>,
    );
    for (const label of ['Queued', 'Building team', 'Running', 'Waiting for input', 'Completed', 'Failed', 'Cancelled']) {
      expect(screen.getByText(label)).toBeInTheDocument();
    }
  });
});

describe('ErrorMessage', () => {
  it("shows the server's message and each invalid field", () => {
    const error = new ApiError(422, 'validation_failed', '2 fields are invalid', {
      fields: [
        { field: 'task', message: 'must not be empty' },
        { field: 'max_round', message: 'must be at most 1000' },
      ],
    });
    render(<ErrorMessage error={error} title="Could not start the run" />);
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('Could not start the run');
    expect(alert).toHaveTextContent('2 fields are invalid');
    expect(alert).toHaveTextContent('max_round: must be at most 1000');
  });

  it('renders nothing without an error', () => {
    const { container } = render(<ErrorMessage error={null} />);
    expect(container).toBeEmptyDOMElement();
  });
});

describe('ConfirmDialog', () => {
  it('confirms and cancels', async () => {
    const user = userEvent.setup();
    const onConfirm = vi.fn();
    const onCancel = vi.fn();
    render(
      <ConfirmDialog open title="Delete this team?" tone="danger" confirmLabel="Delete" onConfirm={onConfirm} onCancel={onCancel}>
        Runs that used it keep their copy.
      </ConfirmDialog>,
    );
    const dialog = screen.getByRole('dialog', { name: 'Delete this team?' });
    expect(dialog).toHaveAccessibleDescription('Runs that used it keep their copy.');
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(onConfirm).toHaveBeenCalledOnce();
    expect(onCancel).toHaveBeenCalledOnce();
  });
});
