spec=loans/1
