// /login: email and password. On success the session store flips to 'signed-in' and
// GuestOnly sends the user on to where they were going.
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { z } from 'zod';
import { Button, ErrorMessage, TextField } from '@/components/ui';
import { formText, validate, type FieldErrors } from '@/lib/form';
import { useInfo } from '@/lib/api/get-info';
import { useSession } from '../stores/session';
import { AuthLayout } from './AuthLayout';

const loginSchema = z.object({
  email: z.string().trim().min(1, 'Enter your email address.'),
  password: z.string().min(1, 'Enter your password.'),
});
type LoginValues = z.input<typeof loginSchema>;

export function LoginPage() {
  const signIn = useSession((state) => state.signIn);
  const info = useInfo();
  const [errors, setErrors] = useState<FieldErrors<LoginValues>>({});
  const login = useMutation({
    mutationFn: ({ email, password }: z.output<typeof loginSchema>) => signIn(email, password),
  });

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const result = validate(loginSchema, { email: formText(form, 'email'), password: formText(form, 'password') });
    setErrors(result.errors ?? {});
    if (result.data) login.mutate(result.data);
  }

  return (
    <AuthLayout title="Sign in">
      <form className="stack" onSubmit={onSubmit} noValidate>
        {login.error && <ErrorMessage error={login.error} />}
        <TextField
          label="Email"
          name="email"
          type="email"
          autoComplete="username"
          inputMode="email"
          required
          error={errors.email}
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          error={errors.password}
        />
        <Button type="submit" variant="primary" loading={login.isPending}>
          Sign in
        </Button>
      </form>
      {info.data?.registration && (
        <p className="auth-layout__footer">
          New here? <Link to="/register">Create an account</Link>
        </p>
      )}
    </AuthLayout>
  );
}
