// The last epoch's checkpoint in IndexedDB, so a reload can continue a run where it was.
const DB = 'kindling', STORE = 'checkpoints', KEY = 'last';

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** {bytes, epoch, epochs, settings, accuracy, savedAt} */
export const saveCheckpoint = (checkpoint) => transact('readwrite', (s) => s.put(checkpoint, KEY));
export const loadCheckpoint = () => transact('readonly', (s) => s.get(KEY));
export const clearCheckpoint = () => transact('readwrite', (s) => s.delete(KEY));
