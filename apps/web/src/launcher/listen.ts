import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

export class ListenError extends Error {
  override readonly name = "ListenError";
}

// Resolves with the bound address (port 0 becomes the port the system picked); turns the usual
// socket errors into messages that say what to change.
export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (error.code === "EADDRINUSE") {
        reject(
          new ListenError(`port ${port} on ${host} is already in use: stop the program using it or set PORT`),
        );
      } else if (error.code === "EACCES") {
        reject(
          new ListenError(
            `not allowed to listen on ${host}:${port}: choose a PORT above 1023 or run as root`,
          ),
        );
      } else if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND") {
        reject(new ListenError(`HOST ${host} is not an address of this machine`));
      } else {
        reject(error);
      }
    };
    const onListening = () => {
      server.off("error", onError);
      resolve(server.address() as AddressInfo);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}
