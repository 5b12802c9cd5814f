# tui/man.mk — `make man`: regenerates the parts of man/fusebox-top.1 that
# fusebox-top --man prints (keys, header fields, columns, prompts) from the
# tables the console draws from.  The Makefile includes it after B is set.
.PHONY: man
man: $(B)/fusebox-top
	$(B)/fusebox-top --man > $(B)/fusebox-top.man-parts
	awk -f tui/man_splice.awk $(B)/fusebox-top.man-parts man/fusebox-top.1 > $(B)/fusebox-top.1.new
	mv $(B)/fusebox-top.1.new man/fusebox-top.1
