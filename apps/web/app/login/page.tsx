import { LoginForm } from "@/features/auth/LoginForm";

export default function LoginPage() {
  return (
    <main className="centered">
      <LoginForm />
    </main>
  );
}
