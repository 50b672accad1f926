// /register: creates an account and signs in with it. When the server has registration
// turned off, says so and points back to sign-in.
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { z } from 'zod';
import { Button, ErrorMessage, PageSpinner, TextField } from '@/components/ui';
import { ApiError } from '@/lib/api/errors';
import { formText, validate, type FieldErrors } from '@/lib/form';
import { useInfo } from '@/lib/api/get-info';
import { useSession } from '../stores/session';
import { AuthLayout } from './AuthLayout';

/** The server's rule (crates/cadre-server auth::password). */
export const MIN_PASSWORD_CHARS = 10;

const registerSchema = z
  .object({
    email: z.email('Enter an email address, like name@example.com.'),
    password: z.string().min(MIN_PASSWORD_CHARS, `Use at least ${MIN_PASSWORD_CHARS} characters.`),
    confirm: z.string(),
  })
  .refine((values) => values.password === values.confirm, {
    path: ['confirm'],
    message: 'The passwords do not match.',
  });
type RegisterValues = z.input<typeof registerSchema>;

export function RegisterPage() {
  const register = useSession((state) => state.register);
  const info = useInfo();
  const [errors, setErrors] = useState<FieldErrors<RegisterValues>>({});
  const signUp = useMutation({
    mutationFn: ({ email, password }: { email: string; password: string }) => register(email, password),
    onError: (error) => {
      // Show the server's per-field messages (422) beside the fields.
      if (error instanceof ApiError) setErrors(error.fieldErrors);
    },
  });

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const result = validate(registerSchema, {
      email: formText(form, 'email').trim(),
      password: formText(form, 'password'),
      confirm: formText(form, 'confirm'),
    });
    setErrors(result.errors ?? {});
    if (result.data) signUp.mutate(result.data);
  }

  if (info.isPending) return <PageSpinner />;
  if (info.data && !info.data.registration) {
    return (
      <AuthLayout title="Create an account">
        <p>Registration is closed on this server. Ask an administrator for an account.</p>
        <p className="auth-layout__footer">
          <Link to="/login">Back to sign in</Link>
        </p>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout title="Create an account">
      <form className="stack" onSubmit={onSubmit} noValidate>
        {signUp.error && <ErrorMessage error={signUp.error} />}
        <TextField label="Email" name="email" type="email" autoComplete="email" inputMode="email" required error={errors.email} />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          hint={`At least ${MIN_PASSWORD_CHARS} characters.`}
          error={errors.password}
        />
        <TextField label="Confirm password" name="confirm" type="password" autoComplete="new-password" required error={errors.confirm} />
        <Button type="submit" variant="primary" loading={signUp.isPending}>
          Create account
        </Button>
      </form>
      <p className="auth-layout__footer">
        Already have an account? <Link to="/login">Sign in</Link>
      </p>
    </AuthLayout>
  );
}
