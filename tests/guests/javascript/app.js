// The runtime's JavaScript test guest (componentize-js). Input: {"mode": ...}.
import { log } from 'boternity:skill/host';

export function getName() {
  return 'js-probe';
}

export function getDescription() {
  return 'A JavaScript skill used to test the runtime';
}

export function execute(input) {
  const request = JSON.parse(input);
  switch (request.mode ?? 'echo') {
    case 'echo':
      return JSON.stringify({ echo: request, language: 'javascript' });
    case 'log':
      log('info', 'hello from javascript');
      return JSON.stringify({ logged: true });
    case 'fetch':
      // Goes out through wasi:http, which the host refuses; the refusal is
      // recorded as a denied host call.
      fetch(request.url).catch(() => {});
      return JSON.stringify({ fetching: request.url });
    default:
      throw `unknown mode ${request.mode}`;
  }
}
