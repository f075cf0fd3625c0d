import { useEffect, useState } from 'react';
import { api, type ApiKeyItem, type Member } from '../api.js';

/** Members and keys of the workspace, to name the actors of score history. */
export function useActors(): { members: Member[]; keys: ApiKeyItem[] } {
  const [members, setMembers] = useState<Member[]>([]);
  const [keys, setKeys] = useState<ApiKeyItem[]>([]);
  useEffect(() => {
    api<{ members: Member[] }>('GET', '/ui/api/members').then((r) => setMembers(r.members), () => undefined);
    api<{ keys: ApiKeyItem[] }>('GET', '/ui/api/keys').then((r) => setKeys(r.keys), () => undefined);
  }, []);
  return { members, keys };
}
