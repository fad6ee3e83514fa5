import { Suspense } from "react";
import { LoginForm } from "@/features/auth/LoginForm";

export default function LoginPage() {
  return (
    <main className="centered">
      {/* useSearchParams (the `next` path) needs a Suspense boundary in a prerendered page. */}
      <Suspense>
        <LoginForm />
      </Suspense>
    </main>
  );
}
